"""The prompts of the LLM action model, as Markdown files (read with importlib.resources)."""
