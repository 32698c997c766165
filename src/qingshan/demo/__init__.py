"""The demo: a sample district modelled on 崆峒区 and believable simulated data for it.

:mod:`qingshan.demo.district` loads the district and :mod:`qingshan.demo.synth` generates its
simulated (模拟数据) monitoring series; both are pure (no storage, network or web imports).
:mod:`qingshan.demo.loader` writes the district, its deployment data (own region, outlines,
permits, plan targets) and its simulated history into the database. Only ``qingshan.demo``,
``qingshan.cli`` and ``qingshan.simulator`` may import this package or read its data files.
"""
