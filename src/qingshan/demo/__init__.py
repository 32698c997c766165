"""The demo: a sample district modelled on 崆峒区 and believable simulated data for it.

Pure package (no storage, network or web imports): :mod:`qingshan.demo.district` loads the
district, :mod:`qingshan.demo.synth` generates its simulated (模拟数据) monitoring series.
"""
