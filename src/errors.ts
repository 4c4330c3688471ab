/**
 * One catalogue of error codes, prefixed by layer. `docs/errors.md` has one row per code and a test keeps
 * the two in step. Codes are never reused; add new ones at the end of their layer's block.
 */
export const ERROR_CODES = {
  // engine
  MC_ENGINE_UNSUPPORTED_OP: 'no gradient rule for this op',
  MC_ENGINE_SHAPE_MISMATCH: 'tensor shape differs from what the graph expects',
  MC_ENGINE_BAD_MODEL: 'ONNX model could not be read or is malformed',
  MC_ENGINE_MISSING_INPUT: 'a graph input was not supplied',
  MC_ENGINE_FIXTURE_MISMATCH: 'engine result differs from the reference beyond tolerance',
  MC_ENGINE_UNKNOWN_PARAM: 'no parameter matches this name or pattern',
  MC_ENGINE_BAD_CHECKPOINT: 'checkpoint file is malformed or does not fit the model',
  // data
  MC_DATA_UNREADABLE_IMAGE: 'image could not be decoded',
  MC_DATA_EMPTY_FILE: 'file is empty',
  MC_DATA_NOT_AN_IMAGE: 'file is not an image',
  MC_DATA_BAD_NPZ: 'npz archive is malformed or lacks an expected array',
  MC_DATA_BAD_CSV: 'CSV manifest is malformed',
  MC_DATA_MISSING_FILE: 'file named by the dataset does not exist',
  MC_DATA_BAD_SOURCE: 'dataset source could not be recognised',
  MC_DATA_BAD_SPLIT: 'split request cannot be satisfied',
  MC_DATA_DOWNLOAD_FAILED: 'dataset download failed',
  MC_DATA_CHECKSUM_MISMATCH: 'downloaded file does not have the expected MD5',
  MC_DATA_DICOM_NO_IMAGE: 'DICOM file holds no image (no Pixel Data)',
  MC_DATA_DICOM_TRUNCATED: 'DICOM pixel data is shorter than the image it declares',
  MC_DATA_DICOM_UNSUPPORTED: 'DICOM transfer syntax or pixel format is not supported',
  MC_DATA_MISSING_META: 'a metadata value the model or config needs is not given',
  MC_DATA_BAD_TABULAR: 'tabular encoder or binned-column settings are malformed',
  MC_DATA_TOO_MANY_PIXELS: 'image has more pixels than the pixel limit (read from its header)',
  MC_DATA_IMAGE_TOO_SMALL: 'image is smaller than the minimum side length',
  MC_DATA_MULTI_FRAME: 'image holds several frames or pages',
  MC_DATA_OUTSIDE_ROOT: "a manifest path points outside the manifest's folder",
  MC_DATA_ONE_CLASS: 'the training data has images of only one class',
  MC_DATA_TOO_FEW_PER_CLASS: 'a class has too few train or val images to train and validate on',
  MC_DATA_DEID_BURNED_IN: 'the DICOM file declares burned-in annotation (BurnedInAnnotation = YES)',
  MC_DATA_DEID_FAILED: 'a DICOM file could not be de-identified',
  MC_DATA_DICOM_WRITE_FAILED: 'a DICOM object could not be encoded',
  MC_DATA_DICOMWEB_HTTP: 'a DICOMweb request failed (network, timeout or HTTP error)',
  MC_DATA_DICOMWEB_AUTH: 'the DICOMweb server refused the credentials (HTTP 401/403), or the URL carries some',
  MC_DATA_DICOMWEB_BAD_REPLY: 'a DICOMweb reply is not the multipart or DICOM JSON it should be',
  MC_DATA_BAD_GROUP_KEY: 'MEDCLASS_GROUP_KEY is not a hex key of at least 16 bytes',
  // models
  MC_MODELS_UNKNOWN_MODEL: 'no built-in model has this name',
  MC_MODELS_BAD_CONFIG: 'model settings do not fit the input or each other',
  MC_MODELS_BAD_BACKBONE: 'backbone ONNX cannot be cut or adapted as asked',
  // eval
  MC_EVAL_BAD_PREDICTIONS: 'predictions file is malformed',
  MC_EVAL_UNDEFINED_METRIC: 'metric is undefined for this input',
  MC_EVAL_NO_OPERATING_POINT: 'the run has no usable operating point of this kind',
  // train
  MC_TRAIN_BAD_CONFIG: 'training configuration is invalid',
  MC_TRAIN_BAD_RUN_DIR: 'run directory is missing or incomplete',
  // run
  MC_RUN_EXISTS: 'the run directory already holds a run',
  MC_RUN_OLD_FORMAT: 'the run directory was written by an older medclass (no run.json)',
  MC_RUN_BAD_MANIFEST: 'run.json is malformed or of another schema version',
  MC_RUN_RESUME_MISMATCH: 'the resumed run differs from the one recorded in run.json',
  MC_RUN_ENSEMBLE_MISMATCH: 'ensemble members differ in data, split, classes or preprocessing',
  MC_RUN_NO_DROPOUT: 'the run has no dropout to keep on for MC-dropout',
  MC_RUN_BAD_FIGURE: 'a report figure has a bad or duplicate file name',
  MC_RUN_DIFFERENT_DATA: 'runs to compare were evaluated on different data',
  // explain
  MC_EXPLAIN_BAD_LAYER: 'no 4-D feature map of this name feeds the logits',
  MC_EXPLAIN_NOT_CAM_MODEL: 'plain CAM needs global average pooling followed by one linear layer',
  MC_EXPLAIN_BAD_TARGET: 'the class to explain is not one of the model\'s classes',
  MC_EXPLAIN_TOO_MANY_PLAYERS: 'exact Shapley values over this many tabular columns need too many model evaluations',
  // retrieval
  MC_RETRIEVAL_NO_INDEX: 'the run directory has no embedding index',
  MC_RETRIEVAL_BAD_INDEX: 'the embedding index files are malformed or disagree',
  MC_RETRIEVAL_STALE_INDEX: 'the embedding index was built from another model.onnx',
  MC_RETRIEVAL_NO_EMBEDDING: 'the model has no [N,D] embedding value of this name',
  MC_RETRIEVAL_TOO_FEW: 'too few cases to index or map',
  // serve
  MC_SERVE_BAD_REQUEST: 'the request does not match the route\'s schema',
  MC_SERVE_BAD_IMAGE: 'no uploaded image could be decoded',
  MC_SERVE_TOO_LARGE: 'the request body is larger than the server accepts',
  MC_SERVE_UNSUPPORTED_MEDIA_TYPE: 'the request body has a content type the route does not accept',
  MC_SERVE_NOT_FOUND: 'no route matches this method and URL',
  MC_SERVE_NO_INDEX: 'similar cases need an up-to-date embedding index of the run',
  MC_SERVE_NO_REPORT: 'the run directory has no report.html',
  MC_SERVE_BUSY: 'too many requests are waiting for the model',
  MC_SERVE_INTERNAL: 'the server failed unexpectedly',
  MC_SERVE_UNEXPECTED_META: 'tabular values were sent to an image-only run',
  MC_SERVE_BAD_HOST: "the request's Host header is not an allowed host name",
  MC_SERVE_UNKNOWN_MODEL: 'the KServe v2 URL names a model or version this server does not serve',
  MC_SERVE_BAD_TENSOR: 'a KServe v2 inference request does not fit the model\'s inputs or outputs',
  MC_SERVE_PRIVATE_UNSUPPORTED: 'private mode cannot serve this run',
  // pacs
  MC_PACS_STORE_FAILED: 'the PACS did not store a result (STOW-RS refused it)',
  MC_PACS_BAD_STATE: 'the DICOMweb state file is malformed',
  // queue
  MC_QUEUE_BAD_URL: 'the --queue URL is not a redis:// or rediss:// URL',
  MC_QUEUE_UNREACHABLE: 'no Redis server answered at the --queue URL',
  MC_QUEUE_VERSION_MISMATCH: 'a worker runs another medclass version than the job was made with',
  MC_QUEUE_RUN_MISMATCH: "the run directory a worker sees differs from the coordinator's (other files or hashes)",
  MC_QUEUE_JOB_FAILED: 'a queue job failed after all its attempts',
  MC_QUEUE_BATCH_MISMATCH: 'the results folder beside --out belongs to another batch',
  // cli
  MC_CLI_BAD_OPTION: 'command-line option is invalid',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a catalogue code, the file it concerns (relative, no patient path) and a hint on how to fix it. */
export class MedclassError extends Error {
  readonly code: ErrorCode;
  readonly file?: string;
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, opts: { file?: string; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'MedclassError';
    this.code = code;
    this.file = opts.file;
    this.hint = opts.hint;
  }
}

/** True when `e` is a MedclassError, optionally with the given code. */
export function isMedclassError(e: unknown, code?: ErrorCode): e is MedclassError {
  return e instanceof MedclassError && (code === undefined || e.code === code);
}
