"""The platform-free core: models, store, matcher, knowledge. It never imports a chat platform's library."""
