/**
 * Runs a long job with Ctrl-C handled as the training commands promise: the first SIGINT asks the job to stop after
 * the current batch (it saves a checkpoint), a second one aborts at once with exit code 130.
 */
export async function withGracefulInterrupt<T>(job: (shouldStop: () => boolean) => Promise<T>): Promise<T> {
  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write('\ninterrupt: finishing this batch and saving a checkpoint (Ctrl-C again to abort)…\n');
  };
  process.on('SIGINT', onSigint);
  try {
    return await job(() => stopRequested);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
