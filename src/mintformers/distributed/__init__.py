"""Scale-out corpus embedding on Ray Data (the `mintformers[ray]` extra). Ray is imported only when a job runs."""

from .embed import EmbedResult, embed_dataset, read_parts

__all__ = ["embed_dataset", "EmbedResult", "read_parts"]
