"""The seeded dating-app event-log generator behind `abkit demo` (makes the inputs)."""

from abkit.demo.generator import DemoSpec as DemoSpec
from abkit.demo.generator import demo_is_current as demo_is_current
from abkit.demo.generator import generate_demo as generate_demo
