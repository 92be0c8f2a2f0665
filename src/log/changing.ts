/**
 * Whether a run that changes nodes (a deploy, a rollback) is under way in this process. A closed
 * stdout (`deploy prod v1.1.0 | head -1`) ends a read-only command at once, but never such a run:
 * it goes on, silently, to its own end (switched or undone, locks released).
 */
let under = 0;

/** Marks a run that changes nodes as under way; the returned function marks it ended. */
export function changingNodes(): () => void {
  under++;
  let ended = false;
  return () => {
    if (!ended) under--;
    ended = true;
  };
}

export const nodesChanging = (): boolean => under > 0;
