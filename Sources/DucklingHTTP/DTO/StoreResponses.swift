import DucklingCore
import Hummingbird

/// `GET /api/store/status`.
struct StoreStatusResponse: ResponseEncodable {
    let success = true
    let database: String
    let datasets: [String: DatasetStatus]
}

/// A run that was started (`POST /api/store/sync…` without `wait`).
struct StartedRun: Codable {
    let dataset: String
    let runID: String
    let full: Bool

    enum CodingKeys: String, CodingKey {
        case dataset, full
        case runID = "run_id"
    }
}

/// `POST /api/store/sync/{dataset}`: the run started, or with `?wait=true` how it ended.
struct SyncStartResponse: ResponseEncodable {
    let success: Bool
    let message: String
    var run: StartedRun?
    var result: SyncRunResult?
}

/// `POST /api/store/sync`: the runs started, the datasets already syncing, or with `?wait=true` the results.
struct SyncAllResponse: ResponseEncodable {
    let success: Bool
    let started: [StartedRun]
    let running: [StartedRun]
    var results: [SyncRunResult]?
}

/// `POST /api/store/sync/{dataset}/reset-watermark`.
struct MessageResponse: ResponseEncodable {
    let success: Bool
    let message: String
}
