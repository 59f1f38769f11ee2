/// Why a sync could not run or failed. Messages never hold secrets (see ``SecretRedactor``).
public enum SyncError: Error, Sendable, CustomStringConvertible {
    case unknownDataset(String)
    /// Another run of the dataset is going; its id.
    case alreadyRunning(dataset: String, runID: String)
    case setup(String)
    case source(String)
    case invalidData(String)
    case cancelled
    /// Syncing is stopped for a while (a restore); the reason.
    case paused(String)

    public var description: String {
        switch self {
        case .unknownDataset(let name): "no dataset named '\(name)'"
        case .alreadyRunning(let dataset, let runID): "dataset '\(dataset)' is already syncing (run \(runID))"
        case .setup(let message), .source(let message), .invalidData(let message): message
        case .cancelled: "the sync was cancelled"
        case .paused(let reason): "syncing is paused: \(reason)"
        }
    }
}
