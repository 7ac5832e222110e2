"""Pure statistics of agreement, acceptance and annotator reliability (numpy and scipy only: no
SQLModel, no DuckDB), each with its formula and source in its docstring."""
