"""esm-replay core: capture and run formats, ESM configuration, function models and the
deterministic virtual-time simulation of Lambda event source mappings.

This package is pure: it never imports boto3, confluent_kafka or textual (a test enforces it),
so it runs anywhere a capture can be read — a laptop, CI, a notebook.
"""

__version__ = "0.1.0"
ENGINE_VERSION = "0.1.0"
