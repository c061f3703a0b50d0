"""`platform ci`: plan and apply infrastructure changes from pull requests."""
