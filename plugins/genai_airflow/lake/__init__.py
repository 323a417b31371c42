"""Lake arrivals as asset events: the AssetWatcher trigger that polls a lake prefix (local, s3, gs, abfs)."""
