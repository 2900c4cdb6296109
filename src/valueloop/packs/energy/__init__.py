"""Energy pack: a PV plant's inverters judged against what the weather allows, from real data.

The plant is NREL's PVDAQ system 50 (Golden, Colorado) with its NSRDB satellite weather
(:mod:`.plant`); :mod:`.expected` is the pvlib expected-power model of an inverter and
:mod:`.injection` validates measurement and verification of a cleaning by injected savings.
"""
