"""Platform adapters: each turns a platform event into an IncomingMessage and renders the core's result."""
