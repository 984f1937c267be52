"""Stage 9, front ends: the `abkit` command line and the helpers behind the Streamlit app."""
