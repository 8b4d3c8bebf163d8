"""The page's views, each a view of one DashboardState: the header, the sidebar of inputs and the
main area of panels. To add a panel, write a `Panel` (widgets.py) and list it in main.PANELS (or a
sidebar section in sidebar.SECTIONS)."""
from .header import Header
from .main import PANELS, MainArea
from .sidebar import SECTIONS, Sidebar

__all__ = ["Header", "MainArea", "PANELS", "SECTIONS", "Sidebar"]
