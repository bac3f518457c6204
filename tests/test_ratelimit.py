"""Per-user rate limit: the excess gets one notice, then silence, until the window frees up."""

from bot.core.ratelimit import RateLimiter


def test_limit_notice_once_then_recovers():
    now = [0.0]
    rl = RateLimiter(3, window=60, clock=lambda: now[0])
    assert [rl.check("slack", "u").allowed for _ in range(3)] == [True, True, True]
    over = rl.check("slack", "u")
    assert (over.allowed, over.notify) == (False, True)
    assert "try again in 60 s" in rl.notice(over)
    assert (rl.check("slack", "u").allowed, rl.check("slack", "u").notify) == (False, False)
    assert rl.check("slack", "other").allowed, "limits are per user"
    assert rl.check("discord", "u").allowed, "and per platform"
    now[0] = 61
    assert rl.check("slack", "u").allowed


def test_zero_turns_it_off():
    rl = RateLimiter(0)
    assert all(rl.check("x", "u").allowed for _ in range(1000))
