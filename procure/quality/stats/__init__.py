"""quality/stats"""
