"""The admin API: the write side that back-end services talk to, with API keys."""
