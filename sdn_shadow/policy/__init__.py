"""Policy: decisions from forecasts and state to intents (pure)."""
