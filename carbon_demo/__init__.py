"""The demo zone: sample enterprises, a year of readings through the intake, users, then the dashboard."""
