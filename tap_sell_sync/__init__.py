"""Singer tap for Zendesk Sell through the Sync API."""
