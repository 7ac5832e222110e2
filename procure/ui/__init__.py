"""The only part of procure that imports streamlit: workspace access, error display, widgets."""
