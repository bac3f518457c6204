"""One process: adapters, scheduler and /healthz + /metrics start together and stop cleanly."""

import asyncio
from pathlib import Path

import aiohttp

from bot.core.models import IncomingMessage
from bot.core.service import FactChecker
from bot.core.store import Store
from bot.runtime import Runtime, StartupError


class FakeAdapter:
    def __init__(self, name="fake", fail=False):
        self.name = name
        self.fail = fail
        self.events = []
        self.ok = True

    def poster(self):
        return None

    async def start(self):
        if self.fail:
            raise StartupError(f"{self.name}: the token was rejected; check {self.name.upper()}_TOKEN")
        self.events.append("start")

    async def stop(self):
        await asyncio.sleep(0.01)  # an in-flight reply finishing
        self.events.append("stop")

    def health(self):
        return self.ok, "connected" if self.ok else "gateway disconnected"


def test_health_metrics_and_clean_stop(sample_claims):
    store = Store()
    store.upsert_claims(sample_claims)
    checker = FactChecker(store)
    adapter = FakeAdapter()

    async def scenario():
        rt = Runtime(checker, [adapter], port=0)
        await rt.start()
        base = f"http://127.0.0.1:{rt.bound_port}"
        checker.check(IncomingMessage(text="Alibaba stole Claude's guardrails", platform="fake"))
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/healthz") as r:
                assert (r.status, await r.text()) == (200, "ok\n")
            adapter.ok = False
            async with http.get(base + "/healthz") as r:
                assert (r.status, await r.text()) == (503, "fake: gateway disconnected\n")
            async with http.get(base + "/metrics") as r:
                text = await r.text()
            # prometheus_client's own exposition: it negotiates OpenMetrics with a scraper that asks for it
            async with http.get(base + "/metrics", headers={"Accept": "application/openmetrics-text"}) as r:
                assert r.headers["Content-Type"].startswith("application/openmetrics-text")
                assert (await r.text()).rstrip().endswith("# EOF")
        assert 'factbot_checks_total{decision="match",platform="fake"} 1.0' in text
        assert "factbot_claims 3.0" in text
        await rt.stop()
        await rt.stop()  # twice is harmless
        return rt

    asyncio.run(scenario())
    assert adapter.events == ["start", "stop"]


def test_startup_error_exits_with_a_message(caplog):
    checker = FactChecker(Store())
    code = asyncio.run(Runtime(checker, [FakeAdapter("discord", fail=True)], port=None).run_until_signalled())
    assert code == 4
    assert "discord: the token was rejected; check DISCORD_TOKEN" in caplog.text


def test_sigterm_stops_the_process():
    """A real process gets SIGTERM and exits 0 after stopping everything."""
    import signal
    import subprocess
    import sys

    code = (  # noqa: UP031 - a script spelled out; %r quotes the path as Python reads it
        "import asyncio, sys\n"
        "sys.path.insert(0, %r)\n"
        "from tests.test_runtime import FakeAdapter\n"
        "from bot.core.service import FactChecker\n"
        "from bot.core.store import Store\n"
        "from bot.runtime import Runtime\n"
        "a = FakeAdapter()\n"
        "rt = Runtime(FactChecker(Store()), [a], port=None)\n"
        "async def main():\n"
        "    task = asyncio.create_task(rt.run_until_signalled())\n"
        "    await asyncio.sleep(0.2); print('ready', flush=True)\n"
        "    code = await task; print(a.events, code, flush=True)\n"
        "asyncio.run(main())\n"
    ) % str(Path(__file__).resolve().parents[1])
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert out.strip() == "['start', 'stop'] 0"
    assert proc.returncode == 0
