//! Role x route matrix (in progress).
