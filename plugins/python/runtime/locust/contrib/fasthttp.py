"""`from locust.contrib.fasthttp import FastHttpUser`: the same user."""
from ..user import FastHttpUser

__all__ = ["FastHttpUser"]
