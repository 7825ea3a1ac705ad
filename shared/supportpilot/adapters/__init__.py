"""AWS adapters for the ports in `supportpilot.ports`; they translate AWS errors into domain errors."""
