// MaculaMesh: the five bounded mechanisms of a mesh node, each an actor over a pure core.
//
// Everything a component needs from the memory contract (``MemoryManaged``, ``MemoryMetrics``,
// ``ConfigurationError``) comes from MaculaMemory, re-exported here so one import serves.
@_exported import MaculaMemory
