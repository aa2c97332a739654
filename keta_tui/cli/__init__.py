"""keta's command line. Print commands never import textual."""
