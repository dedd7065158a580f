"""The app's stylesheets (.tcss), shipped as package data."""

from pathlib import Path

APP_TCSS = Path(__file__).with_name("app.tcss")
