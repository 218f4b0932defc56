"""The Streamlit dashboard for bureau staff and enterprises; it calls only the public API of ``carbon``.

The pages are built in the dashboard issue.
"""
