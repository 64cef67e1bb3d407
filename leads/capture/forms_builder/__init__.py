"""Forms marketers build on the Forms page (issue #24): layout, public rendering, analytics."""
