"""keta's Textual front-desk app."""
