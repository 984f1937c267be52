"""Stage 1, configuration: the pydantic models of exp.yaml / metrics.yaml and their loader.

The only place that reads YAML. Everything later in the flow takes a validated
`Experiment`.
"""

from abkit.config.models import AssignmentsSource as AssignmentsSource
from abkit.config.models import BayesSettings as BayesSettings
from abkit.config.models import CorrectionMethod as CorrectionMethod
from abkit.config.models import CupedSettings as CupedSettings
from abkit.config.models import DataSources as DataSources
from abkit.config.models import DecisionSettings as DecisionSettings
from abkit.config.models import EventsSource as EventsSource
from abkit.config.models import Experiment as Experiment
from abkit.config.models import ExperimentFile as ExperimentFile
from abkit.config.models import GuardrailSettings as GuardrailSettings
from abkit.config.models import Metric as Metric
from abkit.config.models import MetricsFile as MetricsFile
from abkit.config.models import SequentialSettings as SequentialSettings
from abkit.config.models import Source as Source
from abkit.config.models import UnitsSource as UnitsSource
from abkit.config.models import Window as Window
from abkit.config.models import load_experiment as load_experiment
from abkit.config.models import load_metrics as load_metrics
