"""SupportPilot: an AI-assisted customer-service desk that runs in the shop's own AWS account."""

__version__ = "0.1.0"
