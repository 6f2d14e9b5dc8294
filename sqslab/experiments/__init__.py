"""The notebooks' experiments: what they record, and what they run when a chapter
does not write the calls out itself."""
