"""Pure statistics over sufficient statistics: no IO, no pandas, no SQL."""
