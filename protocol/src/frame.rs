//! Framing: `length: i32 big-endian | payload | 0xFF`.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The byte that ends every frame.
pub const END_OF_MESSAGE: u8 = 0xFF;

/// Frames larger than this are refused (the original has no limit; 64 MiB is far beyond any
/// management message or process state seen in practice).
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

/// The bytes of one frame holding `payload`.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 5);
    out.extend_from_slice(&(payload.len() as i32).to_be_bytes());
    out.extend_from_slice(payload);
    out.push(END_OF_MESSAGE);
    out
}

pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, payload: &[u8]) -> std::io::Result<()> {
    if payload.len() > MAX_FRAME {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "frame too large"));
    }
    w.write_all(&encode(payload)).await?;
    w.flush().await
}

/// Read one frame's payload; `None` when the peer closed the connection (also halfway through a
/// frame, or with a negative length, which is how a Java peer's end of stream reads).
/// A missing end-of-message byte is skipped over up to the next `0xFF`, as the original does.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    if !read_or_eof(r, &mut len).await? {
        return Ok(None);
    }
    let len = i32::from_be_bytes(len);
    if len < 0 {
        return Ok(None);
    }
    let len = len as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("frame of {len} bytes is too large")));
    }
    let mut payload = vec![0u8; len];
    if !read_or_eof(r, &mut payload).await? {
        return Ok(None);
    }
    loop {
        let mut eom = [0u8; 1];
        if !read_or_eof(r, &mut eom).await? {
            return Ok(None);
        }
        if eom[0] == END_OF_MESSAGE {
            return Ok(Some(payload));
        }
    }
}

async fn read_or_eof<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> std::io::Result<bool> {
    match r.read_exact(buf).await {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}
