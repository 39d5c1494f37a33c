"""Embedding: texts in, unit float32 vectors out, by one contract and several runtimes.

``base`` holds the contract, the :class:`~scrsearch.embed.base.Embedder` ABC with its
one abstract method ``embed_batch``, and the model-name helpers every backend shares;
``torch`` runs a sentence-transformers model; ``onnx`` runs the same model exported to
int8 ONNX Runtime (the same vector space); ``hashing`` is the deterministic fake that
most tests use; ``registry`` maps each backend's name to its loader
(``load_embedder``, ``BACKENDS``).

May import: records, config, errors. (tests/test_architecture.py checks the room order.)
"""
