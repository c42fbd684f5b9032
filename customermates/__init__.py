"""customermates: a self-hostable CRM served over MCP and REST."""

__version__ = "0.1.0"

__all__ = ["__version__"]
