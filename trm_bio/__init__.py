"""trm-bio: heart rate and HRV biofeedback beside the nine skills of the Trauma Resiliency Model."""

__version__ = "0.1.0"
