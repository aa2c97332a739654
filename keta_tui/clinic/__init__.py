"""keta's clinic rules and services: booking, courses, the session lifecycle, the
check-in gate, REMS forms and the day's board as plain data. Never imports textual.
"""
