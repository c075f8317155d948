"""The pharmacy counter: slips, the print queue, the audit log and the terminal secret."""
