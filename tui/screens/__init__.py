"""One screen a module: home (catalog), run, record, shard, compare."""
