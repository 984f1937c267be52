{#
  data_end.sql: the moment the data stops, for censoring windowed metrics.

  Purpose     a unit counts in a windowed metric only if its whole window ends
              before this moment: the analysis end (`--as-of`, exp.yaml `end`) when
              given, else the last event in the log.
  Parameters  window_end: optional timestamp literal.
  Output      one row: data_end (TIMESTAMP).
  Grain       one row.
#}
    SELECT
    {%- if window_end %}
        {{ window_end }} AS data_end
    {%- else %}
        MAX(ts) AS data_end
    FROM events
    {%- endif %}
