"""Stage 1, configuration: the pydantic models of exp.yaml / metrics.yaml and their loader.

`metrics` holds the metric catalogue's models, `settings` the analysis settings,
`experiment` the data sources and the experiment itself, `loader` the only code that
reads YAML and `hints` its one-line error messages. Everything later in the flow takes
a validated `Experiment`.
"""

from abkit.config.experiment import AssignmentsSource as AssignmentsSource
from abkit.config.experiment import DataSources as DataSources
from abkit.config.experiment import EventsSource as EventsSource
from abkit.config.experiment import Experiment as Experiment
from abkit.config.experiment import ExperimentFile as ExperimentFile
from abkit.config.experiment import Source as Source
from abkit.config.experiment import UnitsSource as UnitsSource
from abkit.config.loader import load_experiment as load_experiment
from abkit.config.loader import load_metrics as load_metrics
from abkit.config.metrics import Measure as Measure
from abkit.config.metrics import Metric as Metric
from abkit.config.metrics import MetricsFile as MetricsFile
from abkit.config.metrics import Window as Window
from abkit.config.metrics import Winsorize as Winsorize
from abkit.config.settings import BayesSettings as BayesSettings
from abkit.config.settings import CalendarPrePeriod as CalendarPrePeriod
from abkit.config.settings import CorrectionMethod as CorrectionMethod
from abkit.config.settings import CupedSettings as CupedSettings
from abkit.config.settings import DecisionSettings as DecisionSettings
from abkit.config.settings import GuardrailSettings as GuardrailSettings
from abkit.config.settings import HealthSettings as HealthSettings
from abkit.config.settings import ProportionSettings as ProportionSettings
from abkit.config.settings import SequentialSettings as SequentialSettings
