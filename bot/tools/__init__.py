"""Tools outside the serving import graph: the WeChat simulator, benchmarks, the load test."""
