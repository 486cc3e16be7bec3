"""The simulation: the virtual clock, one poller per source family, the retry machine streams and
Kafka share, response and destination rules, the runner that turns a capture into a run
directory. Import the submodule you need; this package imports nothing
on its own."""
