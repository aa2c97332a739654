"""keta: the front desk of a ketamine / esketamine outpatient clinic, in a terminal."""

__version__ = "0.1.0"
