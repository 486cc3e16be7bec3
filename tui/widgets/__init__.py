"""The TUI's widgets: the paged table, the shard timeline, breadcrumbs, help."""
