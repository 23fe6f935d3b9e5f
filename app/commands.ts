/** A reviewer's answer, parsed from a comment. */
export type ReviewCommand = { verb: 'approve'; id: string } | { verb: 'deny'; id: string; reason: string | null };

const COMMAND = /^\/gatehouse[ \t]+(approve|deny)[ \t]+([A-Za-z0-9_-]{4,64})(?:[ \t]+(.*))?$/;

/**
 * Finds `/gatehouse approve <id>` or `/gatehouse deny <id> [reason]` on a line of its own.
 * Quoted lines (`> ...`) are ignored, so quoting a request never answers it; a comment with
 * more than one command is refused (null) rather than guessed at.
 */
export function parseReviewCommand(body: string): ReviewCommand | null {
  const found: ReviewCommand[] = [];
  let fenced = false;
  for (const raw of body.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced || line.startsWith('>')) continue;
    const match = COMMAND.exec(line);
    if (!match) continue;
    const [, verb, id, rest] = match;
    found.push(
      verb === 'approve' ? { verb: 'approve', id: id! } : { verb: 'deny', id: id!, reason: rest?.trim() || null },
    );
  }
  return found.length === 1 ? found[0]! : null;
}
